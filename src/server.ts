/**
 * The process: configuration, listen, graceful shutdown. Everything else is in app.ts.
 * `npm start` runs this file on Node 24 (the npm package `node`).
 */
import closeWithGrace from 'close-with-grace';
import { loadConfig, ConfigError } from './config.ts';
import { buildApp } from './app.ts';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`error: Node ${process.versions.node} is too old; this service needs Node 24 (run it through npm: npm start)`);
  process.exit(1);
}

let config;
try {
  config = loadConfig();
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  process.exit(1);
}

let app;
try {
  // A terminal gets readable lines; a pipe or a log collector gets JSON.
  app = await buildApp(config, { prettyLogs: process.stdout.isTTY === true });
} catch (err) {
  console.error(`error: start-up failed: ${err instanceof ConfigError ? err.message : (err as Error).message}`);
  process.exit(1);
}

// Drain in-flight requests, then close the store and the worker pool (onClose hooks).
closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'closing after an uncaught error');
  else app.log.info({ signal }, 'shutting down');
  await app.close();
});

await app.listen({ port: config.port, host: config.host });
app.log.info({ backend: config.cryptoBackend, store: app.ctx.store.kind, docs: `http://${config.host}:${config.port}/docs` }, 'service ready');
