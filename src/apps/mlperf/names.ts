/**
 * Names shared by the MLPerf infrastructure study (paper Figs. 8–11): its workflows, services,
 * executor and agents. Pure data: agent specs and workflow code may import it.
 */
export const MLPERF_APP = 'mlperf';
/** The online inference workflow: the model server behind its entry Service, and a declared backup. */
export const ONLINE_WORKFLOW = 'online';
export const MODEL_SERVER_SERVICE = 'model-server';
export const BACKUP_SERVICE = 'backup';
/** The batch inference workflow: Offline LoadGen against a model loaded in the pod, as a Job. */
export const BATCH_WORKFLOW = 'batch';
export const OFFLINE_EXECUTOR = 'offline-loadgen';
/** The model both workflows serve (a registry model name). */
export const MLPERF_MODEL = 'mnist-classifier';

export const ONLINE_REF = { app: MLPERF_APP, workflow: ONLINE_WORKFLOW } as const;
export const BATCH_REF = { app: MLPERF_APP, workflow: BATCH_WORKFLOW } as const;

/** The agents (one per figure), run as scanflow.mlperf.<name>. */
export const AGENTS = {
  tuner: 'qos-tuner',
  /** The tuner in its keda-qps mode (Fig. 9: KEDA on the application's queries/s). */
  kedaTuner: 'qos-tuner-keda',
  antiAffinity: 'anti-affinity',
  failover: 'failover',
} as const;
