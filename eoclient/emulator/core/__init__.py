"""The emulator's framework: clock, state, tokens, faults, middleware, routing, refusals, job engine."""
