export {
  DaqError,
  asDaqError,
  errorCatalogue,
  errorCodes,
  isDaqError,
  isErrorCode,
  retriableCodes,
} from './errors.js';
export type { DaqErrorOptions, ErrorCode } from './errors.js';
export {
  CELLS_PER_LAYER,
  CHAMBER_COUNT,
  CHAMBER_MAX,
  LAYER_SLOTS,
  chamberLayerIndex,
  CHANNEL_KEY_COUNT,
  CHANNEL_MAX,
  ChannelMap,
  FPGA_MAX,
  LAYERS_PER_CHAMBER,
  channelKey,
  packLocation,
  unpackLocation,
} from './channel-map.js';
export type { ChannelLocation, ChannelMapEntry } from './channel-map.js';
export {
  BX_MAX,
  BX_NS,
  BX_PER_ORBIT,
  ORBIT_MAX,
  QUALITY_MAX,
  TDC_BINS_PER_BX,
  TDC_MAX,
  WORD_BYTES,
  WORD_FAULT_COUNT,
  WordFault,
  WordTally,
  WordType,
  bytesOfWords,
  checkWord,
  decodeWord,
  faultField,
  faultReason,
  segmentChamber,
  segmentQuality,
  tallyWords,
  timeNs,
  wordBx,
  wordChannel,
  wordChannelKey,
  wordFpga,
  wordFromBigInt,
  wordHead,
  wordOrbit,
  wordTdc,
  wordTimeNs,
  wordToBigInt,
  wordsOf,
  writeHitWord,
  writeSegmentWord,
} from './hit-word.js';
export type { DecodedWord, HitFields, SegmentFields } from './hit-word.js';
export {
  DEFAULT_ORBITS_PER_TIMEFRAME,
  SUBTIMEFRAME_FORMAT,
  SubTimeframeHeaders,
  decodeSubTimeframe,
  encodeSubTimeframe,
  isTraceparent,
  timeframeOfOrbit,
} from './timeframe.js';
export type { HeaderValue, SubTimeframeHeader, SubTimeframeMessage } from './timeframe.js';
export { ERS_NAME, ersIssueCatalogue, ersSeverities, severityRank, validateErsIssue } from './ers.js';
export type { ErsContext, ErsIssue, ErsIssueName, ErsParameterValue, ErsSeverity } from './ers.js';
export {
  allowedEnvironmentTransitions,
  commandedTaskTransitions,
  environmentFailure,
  environmentMachine,
  environmentStates,
  environmentTransitions,
  failedEnvironmentState,
  isEnvironmentTransition,
  nextEnvironmentState,
  nextTaskState,
  taskAllows,
  taskMachine,
  taskPathTo,
  taskDown,
  taskStates,
  taskTransitions,
} from './states.js';
export type { EnvironmentState, EnvironmentTransition, TaskState, TaskTransition } from './states.js';
export { topicKinds, topicName, topicNames, validateNamespace } from './topics.js';
export type { TopicKind, TopicNames } from './topics.js';
export { isCatalogued, metricCatalogue, metricLabels, metricSpec } from './metrics.js';
export type { MetricLabel, MetricName, MetricSpec, MetricType } from './metrics.js';
