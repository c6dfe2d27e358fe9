/**
 * The `scanflow` command. Sub-commands:
 *   up [--no-workers]   the embedded stack (Temporal + Web UI + workers), state under .scanflow/
 *   worker              workers only, against TEMPORAL_ADDRESS
 *   doctor              runs the stack health check workflow on a running stack
 *   demo …              the MNIST case study end to end (scanflow demo --help)
 *   demo mlperf …       the infrastructure experiments, Figs. 8–11 (scanflow demo mlperf --help)
 *   agent …             start, call, query, update and stop agents (scanflow agent --help)
 *   codec-server        decodes encrypted payloads for the Temporal Web UI and CLI
 */
import { loadConfig } from '../config.js';

const usage = `usage: scanflow <command> [options]

commands:
  up [--no-workers]   start the embedded stack: Temporal dev server (SQLite under .scanflow/),
                      Web UI on http://localhost:8233, search attributes, and the workers
  worker              run the workers only (TEMPORAL_ADDRESS, SCANFLOW_WORKER_ROLES)
  doctor              check a running stack: native TensorFlow + knowledge base, through Temporal
  demo [options]      the MNIST case study end to end on one machine (scanflow demo --help)
  demo mlperf [opts]  the infrastructure experiments (Figs. 8-11) on 2 real nodes (scanflow demo mlperf --help)
  agent <command>     manage agents (scanflow agent help)
  codec-server [--port 8235] [--ui-origin URL]
                      decode encrypted payloads for the Web UI / CLI (SCANFLOW_CODEC_KEY_FILE)

environment: TEMPORAL_ADDRESS (127.0.0.1:7233), TEMPORAL_NAMESPACE (default), SCANFLOW_HOME (.scanflow),
  SCANFLOW_S3_ENDPOINT/_ACCESS_KEY/_SECRET_KEY/_BUCKET (knowledge base on S3 instead of .scanflow/knowledge),
  KUBECONFIG, SCANFLOW_K8S_NAMESPACE (scanflow);
  Temporal security: TEMPORAL_TLS, TEMPORAL_TLS_CA_PATH, TEMPORAL_TLS_CERT_PATH, TEMPORAL_TLS_KEY_PATH,
  TEMPORAL_TLS_SERVER_NAME, TEMPORAL_API_KEY or TEMPORAL_API_KEY_FILE (as the temporal CLI), and
  SCANFLOW_CODEC_KEY_FILE (AES-256-GCM payload encryption; lines 'id:base64-key', the first encrypts)`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'up': {
      const { up } = await import('./up.js');
      await up({ config: loadConfig(), noWorkers: rest.includes('--no-workers') });
      return 0;
    }
    case 'worker': {
      const { runWorkers } = await import('../../workers/run.js');
      const { parseRoles } = await import('../../workers/parse-roles.js');
      const config = loadConfig();
      await runWorkers({
        config,
        roles: parseRoles(process.env.SCANFLOW_WORKER_ROLES),
        onReady: (q) => console.log(`[scanflow] workers polling ${q.join(', ')}`),
      });
      return 0;
    }
    case 'doctor': {
      const { doctor } = await import('./doctor.js');
      return await doctor(loadConfig());
    }
    case 'demo': {
      if (rest[0] === 'mlperf') {
        const { parseMlperfDemoOptions, usage: mlperfUsage } = await import('../apps/mlperf/demo-options.js');
        const options = parseMlperfDemoOptions(rest.slice(1));
        if (options === 'help') {
          console.log(mlperfUsage);
          return 0;
        }
        const { runMlperfDemo } = await import('../apps/mlperf/demo.js');
        const { startWorkers } = await import('../../workers/run.js');
        await runMlperfDemo(options, startWorkers);
        return 0;
      }
      const { parseDemoOptions, usage: demoUsage } = await import('../apps/mnist/demo-options.js');
      const options = parseDemoOptions(rest);
      if (options === 'help') {
        console.log(demoUsage);
        return 0;
      }
      const { runDemo } = await import('../apps/mnist/demo.js');
      const { startWorkers } = await import('../../workers/run.js');
      await runDemo(options, startWorkers);
      return 0;
    }
    case 'codec-server': {
      const { runCodecServer } = await import('./codec-server.js');
      return await runCodecServer(loadConfig().temporal, rest);
    }
    case 'agent': {
      const { runAgentCommand } = await import('./agents.js');
      return await runAgentCommand(rest, { config: loadConfig() });
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(usage);
      return command === undefined ? 2 : 0;
    default:
      console.error(`scanflow: unknown command '${command}'\n\n${usage}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
