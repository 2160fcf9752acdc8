export { type ClosableKubeClient, collectionPath, createKubeClient, type KubeClientOptions } from './client.js';
export { type LoadedKubeConfig, type LoadKubeConfigOptions, loadKubeConfig } from './config.js';
export * from './types.js';
