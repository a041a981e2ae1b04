declare module '@stdlib/random-base-binomial' {
  const binomial: { factory(options: { seed: number }): (n: number, p: number) => number };
  export default binomial;
}
