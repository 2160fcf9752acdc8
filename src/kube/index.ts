export { type ClosableKubeClient, collectionPath, createKubeClient, type KubeClientOptions } from './client.js';
export { type LoadedKubeConfig, loadKubeConfig, loadKubeConfigFrom } from './config.js';
export { findKubeConfigSource, type KubeConfigSource, type LoadKubeConfigOptions } from './config-source.js';
export { createHpaWatch, type HpaWatch, type HpaWatchOptions } from './hpa-watch.js';
export { createObjectInformers, type ObjectInformers, type ObjectInformersOptions } from './object-informers.js';
export * from './types.js';
