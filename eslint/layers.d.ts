import type { ESLint } from 'eslint';

export interface Layer {
  may: string[];
  typeOnly?: string[];
  why: string;
}
export const layers: Record<string, Layer>;
export function areaOf(relative: string): string | null;
export function layersPlugin(root: string): ESLint.Plugin;
