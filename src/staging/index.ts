/** Staging: files into tasks (inputs, InitialWorkDir) and out of them (outputs, relocation). */
export { prepareInputs, listDirectory, describe as describeType } from './prepare-inputs.js';
export { collectOutputs, finishOutputValue } from './collect-outputs.js';
export { stageInitialWorkDir, type ContainerBind } from './initial-workdir.js';
export { relocateOutputs, type RelocateOptions } from './relocate.js';
export { earlierWritten, replaceableFrom, type WrittenEntry } from './earlier-outputs.js';
export { stageInputs, type StagedInputs } from './stage-inputs.js';
export { verifyOutputs } from './verify-outputs.js';
export { checkType, matchingAlternative } from './check-type.js';
export { pathFromLocation, locationFromPath, completeFile, sha1File, readContents } from './paths.js';
export { isLiteral, writeEntry } from './literals.js';
export { inputPaths, OutputConfinement, placeInside, prepareStreamFiles, relativeName } from './confine.js';
export { isInside } from './ownership.js';
export { DocumentPaths, givenPaths, type DocumentPathsOptions } from './document-paths.js';
export { linkFarm, realTarget } from './link-farm.js';
