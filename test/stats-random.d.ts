declare module '@stdlib/random-base-binomial' {
  const binomial: { factory(options: { seed: number }): (n: number, p: number) => number };
  export default binomial;
}
declare module '@stdlib/random-base-normal' {
  const normal: { factory(options: { seed: number }): (mu: number, sigma: number) => number };
  export default normal;
}
