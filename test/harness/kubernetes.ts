/**
 * The Kubernetes control plane for the integration tests (global-setup.ts imports this only
 * when SCANFLOW_TEST_COMPONENTS includes kubernetes). The implementation lives in
 * src/platform/kubernetes/control-plane so that `npm run`-able scripts/cluster.ts shares it.
 */
export {
  startControlPlane,
  type ControlPlane,
  type ControlPlaneOptions,
} from '../../src/platform/kubernetes/control-plane/start.js';
