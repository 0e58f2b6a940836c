// @fastify/sse as its README shows it: keepAlive(), a "Connected" greeting
// without an id, then reply.sse.replay() with the README's history lookup
// (the events after Last-Event-ID; an id it does not know gets the whole
// history), then live events, which every client shares (a global id).
// The headers go out with the first write; heartbeats every 30 s by
// default (HEARTBEAT_MS).
//
// PORT (env or argv[2], 0 = any free port), INTERVAL_MS (default 300),
// HEARTBEAT_MS, PREFILL (events in the history at start, default 0).
// POST /publish adds an event with the body as its text.
const fastify = require('fastify')({ logger: false });

const port = Number(process.env.PORT ?? process.argv[2] ?? 0);
const interval = Number(process.env.INTERVAL_MS ?? 300);
const heartbeatInterval = Number(process.env.HEARTBEAT_MS ?? 30000);
const prefill = Number(process.env.PREFILL ?? 0);

const messageHistory = [];
const clients = new Set();
let seq = 0;

function next(text = 'New event') {
  seq++;
  const message = { id: String(seq), data: { seq, text } };
  messageHistory.push(message);
  return message;
}
for (let i = 0; i < prefill; i++) next();

function broadcast(message) {
  for (const reply of clients) reply.sse.send(message).catch(() => {});
}
if (interval > 0) setInterval(() => broadcast(next()), interval);

async function main() {
  await fastify.register(require('@fastify/sse'), { heartbeatInterval });

  fastify.get('/events', { sse: true }, async (request, reply) => {
    reply.sse.keepAlive();
    await reply.sse.send({ data: 'Connected' });
    await reply.sse.replay(async (lastEventId) => {
      const startIndex = messageHistory.findIndex((msg) => msg.id === lastEventId);
      const messagesToReplay = startIndex !== -1 ? messageHistory.slice(startIndex + 1) : messageHistory;
      for (const message of messagesToReplay) await reply.sse.send(message);
    });
    clients.add(reply);
    reply.sse.onClose(() => clients.delete(reply));
  });

  fastify.addContentTypeParser('*', { parseAs: 'string' }, (req, body, done) => done(null, body));
  fastify.post('/publish', async (request, reply) => {
    broadcast(next(String(request.body)));
    reply.code(202);
    return { seq };
  });

  await fastify.listen({ port, host: '127.0.0.1' });
  console.log(`listening ${fastify.server.address().port}`);
}
main();
