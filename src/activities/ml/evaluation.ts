/** Evaluation activity: a classifier version's accuracy (per class, confusion) on a dataset. */
import { evaluateClassifier as evaluate } from '../../ml/classifier.js';
import { asActivity } from '../support.js';
import { resolveDataset } from './datasets.js';
import type { MlModels } from './models.js';
import type { EvaluationActivities } from './types.js';

export function createEvaluationActivities(ml: MlModels): EvaluationActivities {
  const { store, classifiers } = ml;
  return {
    async evaluateClassifier(input) {
      return asActivity('evaluateClassifier', async () => {
        const version = await ml.productionVersion(classifiers, input.version);
        const model = await ml.loadClassifier(version);
        const result = evaluate(model, await resolveDataset(store, input.data));
        if (input.recordAs) await classifiers.recordMetrics(version, { [input.recordAs]: result.accuracy });
        return {
          version,
          data: input.data,
          count: result.count,
          accuracy: result.accuracy,
          perClass: result.perClass.map((a) => (Number.isNaN(a) ? -1 : a)),
          confusion: result.confusion,
        };
      });
    },
  };
}
