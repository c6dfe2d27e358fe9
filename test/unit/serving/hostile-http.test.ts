/**
 * The hostile-HTTP part of the fault suite (issue 15): a table of malformed, oversized, slow and
 * aborted requests against the model server and the local router, each run in its own process
 * (programs/hostile-target.ts). Every row must be answered with the expected status (or have its
 * connection closed), both processes must stay alive after every row, and good requests sent all
 * along must keep succeeding. Rows marked `crashed` took a process down before the fix.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

const program = fileURLToPath(new URL('./programs/hostile-target.ts', import.meta.url));

type Step = string | Buffer | { waitMs: number } | 'abort';
interface Row {
  name: string;
  target: 'server' | 'router';
  steps: Step[];
  /** A status (or a class like '4xx'), or 'closed' when the server may close without an answer. */
  expect: number | '4xx' | 'closed' | 'any';
}

interface Exchange {
  status?: number;
  closed: boolean;
}

/** Writes the steps to a fresh connection and reads the first response's status line. */
function exchange(port: number, steps: Step[], timeoutMs = 8000): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(received);
      resolve(m ? { status: Number(m[1]), closed } : { closed });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (d) => {
      received += d.toString('latin1');
      if (/^HTTP\/1\.[01] \d{3}/.test(received)) finish(false);
    });
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('connect', () => void write());
    const write = async (): Promise<void> => {
      for (const step of steps) {
        if (done) return;
        if (step === 'abort') {
          socket.destroy();
          return finish(true);
        }
        if (typeof step === 'object' && 'waitMs' in step) await new Promise((r) => setTimeout(r, step.waitMs));
        else socket.write(step);
      }
    };
  });
}

const good = JSON.stringify({
  inputs: [
    { name: 'images', shape: [1, 784], datatype: 'FP32', data: Array.from({ length: 784 }, (_, i) => (i % 7) / 7) },
  ],
});
const post = (path: string, body: string | Buffer, headers: Record<string, string | number> = {}) => {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const head = Object.entries({ 'content-type': 'application/json', 'content-length': bytes.length, ...headers })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\nhost: x\r\n${head}\r\n`), bytes]);
};
const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nhost: x\r\n${extra}\r\n`;
const infer = '/v2/models/mnist/infer';
const withData = (data: string, shape = '[1,784]') =>
  `{"inputs":[{"name":"images","shape":${shape},"datatype":"FP32","data":${data}}]}`;
const zeros = (n: number) => `[${new Array(n).fill(0).join(',')}]`;
const binary = (header: object, bytes: Buffer, headerLength?: number) => {
  const json = Buffer.from(JSON.stringify(header));
  return post(infer, Buffer.concat([json, bytes]), { 'inference-header-content-length': headerLength ?? json.length });
};
const image = Buffer.alloc(784 * 4);
const nanImage = Buffer.alloc(784 * 4);
nanImage.writeFloatLE(Number.NaN, 40);
const binaryHeader = (size: number) => ({
  inputs: [{ name: 'images', shape: [1, 784], datatype: 'FP32', parameters: { binary_data_size: size } }],
});

const both = (row: Omit<Row, 'target'>): Row[] => [
  { ...row, target: 'server' },
  { ...row, name: `${row.name} (via router)`, target: 'router' },
];

const ROWS: Row[] = [
  // URLs
  ...both({ name: 'GET //[ (crashed)', steps: [get('//[')], expect: '4xx' }),
  ...both({ name: 'GET http://%zz/ (crashed)', steps: [get('http://%zz/')], expect: '4xx' }),
  ...both({
    name: 'bad percent-escape in the model name (was 500)',
    steps: [get('/v2/models/%E0%A4%A/ready')],
    expect: 400,
  }),
  { name: 'asterisk-form target', target: 'server', steps: [get('*')], expect: 400 },
  { name: '3000-character path', target: 'server', steps: [get(`/${'a'.repeat(3000)}`)], expect: 414 },
  ...both({
    name: 'dot segments do not reach admin',
    steps: [get('/v2/models/mnist/../../../admin/model')],
    expect: 404,
  }),
  ...both({ name: 'NUL byte in the model name', steps: [post('/v2/models/%00/infer', good)], expect: 400 }),
  // framing
  ...both({ name: 'not HTTP', steps: ['BLAH\r\n\r\n'], expect: 400 }),
  ...both({
    name: 'content-length and chunked together',
    steps: [`POST ${infer} HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n`],
    expect: 400,
  }),
  ...both({
    name: 'non-numeric content-length',
    steps: [`POST ${infer} HTTP/1.1\r\nhost: x\r\ncontent-length: abc\r\n\r\n`],
    expect: 400,
  }),
  ...both({
    name: 'bad chunk size',
    steps: [`POST ${infer} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`],
    expect: 400,
  }),
  ...both({ name: '20 kB header', steps: [get('/v2/health/live', `x-big: ${'a'.repeat(20_000)}\r\n`)], expect: 431 }),
  ...both({ name: 'wrong method on infer', steps: [get(infer)], expect: 405 }),
  // sizes
  ...both({
    name: '100 MB declared body, refused before it is sent',
    steps: [`POST ${infer} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000000\r\n\r\n`],
    expect: 413,
  }),
  {
    name: '2 MB chunked body over the 1 MB limit',
    target: 'server',
    steps: [
      `POST ${infer} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n`,
      ...Array.from({ length: 32 }, () => `10000\r\n${'1'.repeat(0x10000)}\r\n`),
      '0\r\n\r\n',
    ],
    expect: 413,
  },
  {
    name: 'admin body of 100 kB',
    target: 'server',
    steps: [post('/admin/model', `{"version":"${'1'.repeat(100_000)}"}`)],
    expect: 413,
  },
  ...both({ name: '5000 images declared, no data', steps: [post(infer, withData('[]', '[5000,784]'))], expect: 400 }),
  { name: 'shape of 1e300 images', target: 'server', steps: [post(infer, withData('[]', '[1e300,784]'))], expect: 400 },
  { name: 'negative shape', target: 'server', steps: [post(infer, withData('[]', '[-1,784]'))], expect: 400 },
  {
    name: '1000 input tensors',
    target: 'server',
    steps: [post(infer, `{"inputs":[${new Array(1000).fill('{}').join(',')}]}`)],
    expect: 400,
  },
  { name: 'JSON nested 100,000 deep', target: 'server', steps: [post(infer, '['.repeat(100_000))], expect: 400 },
  // values
  ...both({
    name: '1e39 (finite in float64, Infinity in FP32)',
    steps: [post(infer, withData(`[1e39,${zeros(783).slice(1)}`))],
    expect: 400,
  }),
  { name: '-1e39', target: 'server', steps: [post(infer, withData(`[-1e39,${zeros(783).slice(1)}`))], expect: 400 },
  { name: 'null pixel', target: 'server', steps: [post(infer, withData(`[null,${zeros(783).slice(1)}`))], expect: 400 },
  {
    name: 'string pixel',
    target: 'server',
    steps: [post(infer, withData(`["1",${zeros(783).slice(1)}`))],
    expect: 400,
  },
  { name: '783 pixels for one image', target: 'server', steps: [post(infer, withData(zeros(783)))], expect: 400 },
  { name: 'INT8 datatype', target: 'server', steps: [post(infer, good.replace('FP32', 'INT8'))], expect: 400 },
  { name: 'invalid JSON', target: 'server', steps: [post(infer, '{"inputs":[')], expect: 400 },
  {
    name: 'binary: NaN in the raw tensor',
    target: 'server',
    steps: [binary(binaryHeader(3136), nanImage)],
    expect: 400,
  },
  {
    name: 'binary: header length past the body',
    target: 'server',
    steps: [binary(binaryHeader(3136), image, 999_999)],
    expect: 400,
  },
  {
    name: 'binary: size not matching the shape',
    target: 'server',
    steps: [binary(binaryHeader(3000), image.subarray(0, 3000))],
    expect: 400,
  },
  {
    name: 'binary: header length not a number',
    target: 'server',
    steps: [post(infer, good, { 'inference-header-content-length': '-5' })],
    expect: 400,
  },
  // slow clients and aborts
  {
    name: 'headers never finished (slowloris)',
    target: 'server',
    steps: [`POST ${infer} HTTP/1.1\r\nhost: x\r\n`, { waitMs: 3500 }],
    expect: 'any',
  },
  {
    name: 'body stalls after 10 of 5000 bytes',
    target: 'server',
    steps: [`POST ${infer} HTTP/1.1\r\nhost: x\r\ncontent-length: 5000\r\n\r\n0123456789`, { waitMs: 3500 }],
    expect: 'any',
  },
  ...both({
    name: 'client aborts mid-body (router: crashed)',
    steps: [`POST ${infer} HTTP/1.1\r\nhost: x\r\ncontent-length: 5000\r\n\r\n{"inputs":`, { waitMs: 50 }, 'abort'],
    expect: 'closed',
  }),
  ...both({
    name: 'client aborts while its answer is computed',
    steps: [post(infer, good), 'abort'],
    expect: 'closed',
  }),
];

describe('hostile HTTP against the model server and the router', () => {
  let child: ChildProcess;
  let ports: { server: number; router: number };
  let exited: string | undefined;
  let stderr = '';

  beforeAll(async () => {
    child = spawn(process.execPath, ['--import', 'tsx', program], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code, signal) => (exited = `exit ${code ?? signal}`));
    ports = await new Promise((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve(JSON.parse(line) as { server: number; router: number });
      });
      child.on('exit', () => reject(new Error(`target exited: ${stderr}`)));
    });
  }, 60_000);
  afterAll(() => {
    child?.kill('SIGKILL');
  });

  const goodRequest = async (port: number): Promise<number> => {
    const res = await fetch(`http://127.0.0.1:${port}${infer}`, { method: 'POST', body: good });
    await res.arrayBuffer();
    return res.status;
  };

  it('answers every hostile request cleanly, stays up, and keeps serving good requests meanwhile', async () => {
    let stop = false;
    const goodStatuses: number[] = [];
    const background = (async () => {
      while (!stop) {
        goodStatuses.push(await goodRequest(ports.server).catch(() => 0));
        goodStatuses.push(await goodRequest(ports.router).catch(() => 0));
      }
    })();
    const failures: string[] = [];
    // Rows run four at a time (the slow ones take seconds).
    const queue = [...ROWS];
    const results = new Map<Row, Exchange>();
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let row = queue.shift(); row; row = queue.shift()) {
          const result = await exchange(ports[row.target], row.steps);
          results.set(row, result);
          const ok =
            row.expect === 'any'
              ? result.closed || (result.status ?? 0) >= 400
              : row.expect === 'closed'
                ? result.closed
                : row.expect === '4xx'
                  ? (result.status ?? 0) >= 400 && (result.status ?? 0) < 500
                  : result.status === row.expect;
          if (!ok) failures.push(`${row.target} ${row.name}: expected ${row.expect}, got ${JSON.stringify(result)}`);
          if (exited) failures.push(`${row.target} ${row.name}: the target process died (${exited})`);
          // Each process still answers right after the row.
          for (const port of [ports.server, ports.router]) {
            const alive = await fetch(`http://127.0.0.1:${port}/v2/health/live`).then(
              (r) => r.status,
              () => 0,
            );
            if (alive !== 200) failures.push(`${row.target} ${row.name}: port ${port} no longer answers`);
          }
          if (exited) return;
        }
      }),
    );
    stop = true;
    await background;
    expect({ failures, exited, stderr: exited ? stderr : '' }).toEqual({ failures: [], exited: undefined, stderr: '' });
    expect(goodStatuses.length).toBeGreaterThan(20);
    expect(goodStatuses.filter((s) => s !== 200)).toEqual([]);
    console.log(
      `hostile HTTP: ${ROWS.length} rows, ${results.size} answered cleanly, ${goodStatuses.length} good requests all 200`,
    );
  }, 120_000);

  it('sheds concurrent large bodies past the shared budget with 503 instead of holding them all', async () => {
    // Four 0.9 MB bodies declared at once against a 3 MB budget: the fourth cannot be held.
    const big = `POST ${infer} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 900000\r\n\r\n[`;
    const results = await Promise.all(
      Array.from({ length: 4 }, () => exchange(ports.server, [big, { waitMs: 500 }, 'abort'], 3000)),
    );
    expect(results.filter((r) => r.status === 503)).toHaveLength(1);
    expect(await goodRequest(ports.server)).toBe(200);
    expect(exited).toBeUndefined();
  }, 30_000);
});
