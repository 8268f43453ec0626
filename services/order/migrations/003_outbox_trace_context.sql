-- The W3C trace context an event was written in (traceparent, tracestate), for the relay to publish in the message's
-- headers so consumers continue the trace; NULL for events written outside a traced call or with tracing off.
ALTER TABLE outbox ADD COLUMN traceparent text, ADD COLUMN tracestate text;
