// Jest loads global setup outside its module system; tsx lets it import the TypeScript harness
// (with NodeNext `.js` specifiers) exactly as the application code is written.
import { tsImport } from 'tsx/esm/api';

export default async function setup(globalConfig) {
  const { default: globalSetup } = await tsImport('./global-setup.ts', import.meta.url);
  await globalSetup(globalConfig);
}
