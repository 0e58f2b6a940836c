// A koa-sse-stream endpoint as in the package's README: the middleware
// caps clients (maxClients, default 10000; here 2, as in the example this
// is modelled on), sends a ": ok" comment on connect and a ping comment
// to every client each pingInterval (default 60 s; here PING_MS, default
// 30000). The stream itself is quiet: a separate POST /publish sends a
// few "progress" events to every open stream and then a "done" one.
// Past the cap the middleware passes the request on without ctx.sse, and
// the handler, written as in the README, fails (koa answers 500).
//
// PORT (env or argv[2], 0 = any free port), PING_MS, MAX_CLIENTS.
const Koa = require('koa');
const sse = require('koa-sse-stream');

const port = Number(process.env.PORT ?? process.argv[2] ?? 0);
const pingInterval = Number(process.env.PING_MS ?? 30000);
const maxClients = Number(process.env.MAX_CLIENTS ?? 2);

const app = new Koa();
app.silent = true; // the capped requests' TypeErrors are expected
const clients = new Set();
let seq = 0;

app.use(async (ctx, next) => {
  if (ctx.method !== 'POST' || ctx.path !== '/publish') return next();
  let body = '';
  for await (const chunk of ctx.req) body += chunk;
  const job = ++seq;
  for (const progress of [25, 50, 75, 100]) {
    for (const s of clients) s.send({ event: 'progress', data: JSON.stringify({ job, progress, text: body }) });
  }
  ctx.status = 202;
  ctx.body = { job };
});

app.use(sse({ maxClients, pingInterval }));

app.use(async (ctx) => {
  // The README's handler: ctx.sse is there unless the cap was reached.
  const stream = ctx.sse;
  stream.send({ event: 'ready', data: 'waiting for jobs' });
  clients.add(stream);
  stream.on('close', () => clients.delete(stream));
});

const server = app.listen(port, '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
