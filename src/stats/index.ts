/**
 * switchyard/stats: pure functions over sufficient statistics, no I/O. Every function
 * validates its input and throws StatsInputError naming the argument; none returns NaN.
 */
export { proportionTest, meanTest, relativeLift } from './frequentist.js';
export type {
  Interval,
  ProportionArm,
  MeanArm,
  MeanEstimate,
  TestOptions,
  LiftResult,
  DifferenceResult,
  ProportionTestResult,
  MeanTestResult,
} from './frequentist.js';
export { srmTest, sequentialSrm } from './srm.js';
export type { SrmResult, SequentialSrmResult } from './srm.js';
export { adjustPValues } from './corrections.js';
export type { CorrectionMethod } from './corrections.js';
export { sampleSize, power } from './power.js';
export type { DesignInput, SampleSizeInput, SampleSizeResult } from './power.js';
export { bayesProportion, bayesMean } from './bayes.js';
export type { BayesResult, ArmPosterior, BetaPrior, NormalPrior } from './bayes.js';
export { cuped } from './cuped.js';
export type { CupedArm, CupedResult, CupedArmResult } from './cuped.js';
export { msprt, mixtureSequence } from './sequential.js';
export type { MsprtOptions, MsprtResult, MixtureSequence } from './sequential.js';
export { StatsInputError } from './errors.js';
/** Two-sided p-value of a standard normal statistic (for tests the module does not wrap, e.g. an interaction z). */
export { twoSidedNormalP } from './distributions.js';
export { proportionPosterior, meanPosterior, posteriorSummary } from './bayes.js';
export type { Posterior } from './bayes.js';
export { thompsonShares, armPosteriors } from './thompson.js';
export type { ThompsonOptions } from './thompson.js';
export { PosteriorSampler } from './sampling.js';
export type { Uniform } from './sampling.js';
export { stratifiedEffect } from './stratified.js';
export type { Stratum, StratumEffect, StratifiedResult } from './stratified.js';
