export * from "./settings";
export * from "./presets";
export * from "./validate";
export { loadSettings } from "./load";
