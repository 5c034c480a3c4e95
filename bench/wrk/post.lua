-- wrk script: POST one JSON body to the URL's path with the API key, as
-- bench/load does.
--
--   ASHLAR_KEY=… BODY='{"limit":100}' wrk -t2 -c16 -d20s -s bench/wrk/post.lua http://127.0.0.1:8080/candidate.list
--
-- BODY defaults to {"limit":100}. Non-2xx answers are counted by wrk.
-- With CHECK=1, answers with "success":false are counted too (that costs
-- wrk a copy of every body into Lua, so throughput figures are taken
-- without it).
local key = os.getenv("ASHLAR_KEY") or ""
local function b64(data)
  local chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  return ((data:gsub(".", function(x)
    local r, byte = "", x:byte()
    for i = 8, 1, -1 do r = r .. (byte % 2 ^ i - byte % 2 ^ (i - 1) > 0 and "1" or "0") end
    return r
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then return "" end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return chars:sub(c + 1, c + 1)
  end) .. ({ "", "==", "=" })[#data % 3 + 1])
end

wrk.method = "POST"
wrk.body = os.getenv("BODY") or '{"limit":100}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Basic " .. b64(key .. ":")

local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) failed = 0 end
if os.getenv("CHECK") == "1" then
  function response(status, headers, body)
    if body:sub(1, 15) ~= '{"success":true' then failed = failed + 1 end
  end
end
function done(summary, latency, requests)
  if os.getenv("CHECK") == "1" then
    local f = 0
    for _, t in ipairs(threads) do f = f + t:get("failed") end
    io.write(string.format("success:false or non-JSON answers: %d\n", f))
  end
  io.write(string.format("latency p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
