/**
 * The model-input index moved to comfy/ (pure `/object_info` logic, shared with job validation);
 * kept here so modules that import it from this path keep working.
 */
export { ModelInputIndex } from '../comfy/model-input-index.js';
