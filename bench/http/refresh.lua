-- wrk script: refresh-token rotation, one store write per request.
-- Each thread owns a slice of the starting refresh tokens: one chain per
-- connection plus one spare, because wrk calls request() once on thread 0's
-- state before the run to check the script (that token is never sent); every response hands back the chain's next refresh
-- token, which goes back into the pool, and its access token is appended to
-- OUT.<thread> (the distinct tokens for the rotating-token load).
--   wrk -tN ... -s refresh.lua http://HOST/api/v1/token/refresh -- SEEDS OUT N
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

-- (setup runs in the main Lua state; each thread's state only sees `id`, so
-- the thread count comes in as an argument.)

function init(args)
  local seeds, out, nthreads = args[1], args[2], tonumber(args[3]) or 1
  local all = {}
  for line in io.lines(seeds) do
    if #line > 0 then all[#all + 1] = line end
  end
  pool = {}
  for i, t in ipairs(all) do
    if (i - 1) % nthreads == id then pool[#pool + 1] = t end
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
