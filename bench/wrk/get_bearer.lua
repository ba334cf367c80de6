-- GET with a bearer token: wrk ... -s get_bearer.lua URL -- <token>
-- An empty or missing token sends no Authorization header (the floor needs none).
function init(args)
  local token = args[1]
  if token ~= nil and token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
  end
end
