-- Argo CD health check for litemaas.io/LiteMaaS.
--
-- Install under resource.customizations.health.litemaas.io_LiteMaaS in argocd-cm (see
-- README.md beside this file). Valid Lua 5.1: Argo CD runs it in gopher-lua.
--
--   Healthy      the operator has observed this generation and Ready is True
--   Degraded     Stalled is True (a person must act), or phase Degraded (it was Ready and
--                lost it); the message is the operator's
--   Progressing  everything else: no status yet, a status of an older generation, or
--                components still starting (the message says what it waits for)
local hs = {}

local function condition(status, ctype)
  if status == nil or status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == ctype then
      return c
    end
  end
  return nil
end

local function message_of(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return fallback
end

local generation = nil
if obj.metadata ~= nil then
  generation = obj.metadata.generation
end
local status = obj.status

-- observedGeneration 0 is what a CRD default gives a CR the operator has not written yet.
if status == nil or status.observedGeneration == nil or status.observedGeneration == 0 then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report a status"
  return hs
end

if generation ~= nil and status.observedGeneration ~= generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
    .. " (status is of generation " .. tostring(status.observedGeneration) .. ")"
  return hs
end

local ready = condition(status, "Ready")
local stalled = condition(status, "Stalled")

-- A Ready condition written for an older generation says nothing about this one.
if ready ~= nil and ready.observedGeneration ~= nil and generation ~= nil
    and ready.observedGeneration ~= generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
    .. " (Ready is of generation " .. tostring(ready.observedGeneration) .. ")"
  return hs
end

if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = message_of(stalled, message_of(ready, "Stalled: " .. tostring(stalled.reason)))
  return hs
end

if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = message_of(ready, "Ready")
  return hs
end

if status.phase == "Degraded" then
  hs.status = "Degraded"
  hs.message = message_of(ready, "LiteMaaS lost readiness")
  return hs
end

hs.status = "Progressing"
hs.message = message_of(ready, "Waiting for the Ready condition")
return hs
