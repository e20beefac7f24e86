/**
 * Each front door's requests carry their door as the cause of what they change (core/cause.ts): a hook
 * that runs the rest of the request (its handler, and everything that awaits) inside `withCause`. It is a
 * preHandler, after the body is read: what runs from a body parser's callbacks has the socket's context.
 */
import type { FastifyRequest, preHandlerHookHandler } from "fastify";
import { withCause } from "../core/cause.js";
import type { EventCause } from "../events/event.js";

export function causeHook(causeOf: (req: FastifyRequest) => EventCause): preHandlerHookHandler {
  return (req, _reply, done) => {
    withCause(causeOf(req), done);
  };
}
