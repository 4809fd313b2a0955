-- Write mix for wrk -t1: POST, PUT and DELETE of bench-only currencies, in turn.
--
-- bench.py prepends `POOL = {{code, numeric}, ...}` (512 codes and numeric codes no
-- seeded currency uses) and creates the entries 256..511 before the run, so every
-- request is valid: slot s POSTs POOL[s], PUTs POOL[s - LAG] and DELETEs
-- POOL[s - 2 LAG] (modulo the pool). A code's three requests are 3 * LAG requests
-- apart and wrk has at most one request in flight per connection (64 < 3 * LAG), so
-- each finds the row in the state it expects. bench.py deletes the pool afterwards.
local LAG = 128
-- wrk calls request() once on the first thread to check the script
-- (script_verify_request) and never sends that request: it gets number -1.
local n = -1
non2xx = 0
client_errors = 0
-- "status method path" of the first unexpected answers, for the result file.
first_failures = ""
local failures = 0
local sent = {}
local threads = {}
local headers = { ["Content-Type"] = "application/json" }

function setup(thread)
  table.insert(threads, thread)
end

local function entry(slot)
  return POOL[(slot % #POOL) + 1]
end

local function body(c, name)
  return string.format('{"code": "%s", "numeric": "%s", "name": "%s", "minor_units": 2}',
    c[1], c[2], name)
end

function request()
  local op, slot = n % 3, math.floor(n / 3)
  n = n + 1
  if op == 0 then
    return wrk.format("POST", "/api/v1/currencies", headers, body(entry(slot), "Bench"))
  elseif op == 1 then
    local c = entry(slot - LAG)
    return wrk.format("PUT", "/api/v1/currencies/" .. c[1], headers, body(c, "Bench renamed"))
  end
  return wrk.format("DELETE", "/api/v1/currencies/" .. entry(slot - 2 * LAG)[1])
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    failures = failures + 1
    if failures <= 5 then
      first_failures = first_failures .. status .. " " .. string.sub(body or "", 1, 160) .. "\n"
    end
  end
  if status >= 400 and status < 500 then
    client_errors = client_errors + 1
  end
end

local function sum(name)
  local total = 0
  for _, t in ipairs(threads) do
    total = total + t:get(name)
  end
  return total
end

function count_non2xx()
  return sum("non2xx"), sum("client_errors")
end

function failure_sample()
  local out = ""
  for _, t in ipairs(threads) do
    out = out .. t:get("first_failures")
  end
  return out
end
