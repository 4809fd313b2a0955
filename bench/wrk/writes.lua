-- Write mix for wrk: POST, PUT and DELETE of bench-only currencies, in turn, every
-- request valid whatever order the responses come back in.
--
-- bench.py prepends `POOL` and `STABLE`, lists of {code, numeric} no seeded currency
-- uses; it creates the STABLE ones before the run and deletes both lists after it.
-- - PUT replaces a STABLE currency: those always exist.
-- - POST creates a code from the free queue (POOL at the start); its 201 moves the
--   code to the created queue.
-- - DELETE removes a code from the created queue; its 204 frees the code again.
-- A request's code travels in its `x-request-id`, which atlas echoes. When a queue
-- is empty the turn becomes a PUT; the counts of each kind are reported.
local free, created = { first = 1, last = 0 }, { first = 1, last = 0 }
local numeric = {}
local n = 0
local headers = { ["Content-Type"] = "application/json" }
non2xx, client_errors, precondition_failed, posts, puts, deletes = 0, 0, 0, 0, 0, 0
first_failures = ""
local threads = {}

local function push(q, v)
  q.last = q.last + 1
  q[q.last] = v
end

local function pop(q)
  if q.first > q.last then return nil end
  local v = q[q.first]
  q[q.first] = nil
  q.first = q.first + 1
  return v
end

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for _, c in ipairs(POOL) do
    numeric[c[1]] = c[2]
    push(free, c[1])
  end
end

local function body(code, num, name)
  return string.format('{"code": "%s", "numeric": "%s", "name": "%s", "minor_units": 2}', code, num, name)
end

local function with_id(id)
  return { ["Content-Type"] = "application/json", ["x-request-id"] = id }
end

local function put()
  puts = puts + 1
  local c = STABLE[(n % #STABLE) + 1]
  return wrk.format("PUT", "/api/v1/currencies/" .. c[1], headers, body(c[1], c[2], "Bench renamed " .. n))
end

function request()
  n = n + 1
  local op = n % 3
  if op == 0 then
    local code = pop(free)
    if code then
      posts = posts + 1
      return wrk.format("POST", "/api/v1/currencies", with_id("post-" .. code), body(code, numeric[code], "Bench"))
    end
  elseif op == 2 then
    local code = pop(created)
    if code then
      deletes = deletes + 1
      return wrk.format("DELETE", "/api/v1/currencies/" .. code, with_id("delete-" .. code))
    end
  end
  return put()
end

function response(status, hdrs, resp_body)
  local id = hdrs["x-request-id"] or hdrs["X-Request-Id"] or ""
  if status == 201 and string.sub(id, 1, 5) == "post-" then
    push(created, string.sub(id, 6))
  elseif status == 204 and string.sub(id, 1, 7) == "delete-" then
    push(free, string.sub(id, 8))
  end
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if status == 412 then
      -- atlas's answer to concurrent writes of one row (none sends If-Match)
      precondition_failed = precondition_failed + 1
    elseif status >= 400 and status < 500 then
      client_errors = client_errors + 1
    end
    if non2xx <= 5 then
      first_failures = first_failures .. status .. " " .. string.sub(resp_body or "", 1, 160) .. "\n"
    end
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

function write_ops()
  return string.format('{"post": %.0f, "put": %.0f, "delete": %.0f, "status_412": %.0f}',
    sum("posts"), sum("puts"), sum("deletes"), sum("precondition_failed"))
end
