-- wrk script: cycles through a file of credentials, one per line, so every
-- request carries a different token or cookie (defeats any credential cache
-- smaller than the file). Requests are formatted once in init(), so the load
-- generator spends no more per request than with a fixed header.
--   wrk ... -s rotate.lua URL -- FILE HEADER PREFIX
-- e.g. -- tokens.txt Authorization "Bearer "   or   -- cookies.txt Cookie "stepup_session="
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  local file, header, prefix = args[1], args[2], args[3] or ""
  local creds = {}
  for line in io.lines(file) do
    if #line > 0 then creds[#creds + 1] = line end
  end
  if #creds == 0 then error("no credentials in " .. file) end
  local headers = {}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  requests = {}
  for i, c in ipairs(creds) do
    headers[header] = prefix .. c
    requests[i] = wrk.format(nil, nil, headers)
  end
  -- Each thread of each run starts somewhere else, so runs do not replay
  -- the same credentials in the same order.
  math.randomseed(os.time() * 16 + id)
  index = math.random(#requests)
end

function request()
  index = index % #requests + 1
  return requests[index]
end
