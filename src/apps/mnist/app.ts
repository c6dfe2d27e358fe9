/** The MNIST case study as an app: its own activities run on the ML task queue. */
import type { ScanflowAppModule } from '../../../workers/app.js';
import { createMnistAppActivities } from './activities.js';
import { MNIST_APP } from './names.js';

export const mnistApp: ScanflowAppModule = {
  name: MNIST_APP,
  activities: { ml: ({ store }) => createMnistAppActivities({ store }) },
};
