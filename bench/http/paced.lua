-- wrk script: paced load for "p99 at half the maximum rate". wrk has no
-- constant-rate mode (wrk2 is not in Debian), so each connection waits
-- DELAY_MS after every response before sending the next request: with C
-- connections the offered rate is about C * 1000 / (DELAY_MS + latency).
-- Latency is timed from the moment the request is written, so the wait is not
-- counted (the coordinated-omission caveat is discussed in docs/performance.md).
--   wrk ... -s paced.lua URL -- DELAY_MS
function init(args)
  delay_ms = tonumber(args[1]) or 1
end

function delay()
  return delay_ms
end
