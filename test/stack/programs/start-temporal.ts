// Starts the Temporal dev server the way `npm run dev` does, prints its pid and waits to be killed.
import { startTemporalDevServer } from '../../../src/stack/temporal-server.js';

const [dbFile, port, uiPort, logDir] = process.argv.slice(2) as [string, string, string, string];
const server = await startTemporalDevServer({ dbFile, port: Number(port), uiPort: Number(uiPort), logDir });
console.log(JSON.stringify({ pid: server.process.pid }));
setInterval(() => undefined, 60_000);
