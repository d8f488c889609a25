-- wrk script: refresh-token rotation, one store write per request.
-- Each thread owns a slice of the starting refresh tokens (one chain per
-- connection at most); every response hands back the chain's next refresh
-- token, which goes back into the pool, and its access token is appended to
-- OUT.<thread> (the distinct tokens for the rotating-token load).
--   wrk ... -s refresh.lua http://HOST/api/v1/token/refresh -- SEEDS OUT
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  local seeds, out = args[1], args[2]
  local all = {}
  for line in io.lines(seeds) do
    if #line > 0 then all[#all + 1] = line end
  end
  pool = {}
  for i, t in ipairs(all) do
    if (i - 1) % counter == id then pool[#pool + 1] = t end
  end
  sink = io.open(out .. "." .. id, "w")
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local t = table.remove(pool) or "exhausted"
  return wrk.format(nil, nil, nil, '{"refresh_token":"' .. t .. '"}')
end

function response(status, headers, body)
  local rt = body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if rt then pool[#pool + 1] = rt end
  local at = body:match('"access_token"%s*:%s*"([^"]+)"')
  if at then sink:write(at, "\n") end
end
