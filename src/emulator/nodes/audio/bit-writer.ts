/** Writes values bit by bit, most significant bit first (FLAC's bit order). */
export class BitWriter {
  private bytes: number[] = [];
  private acc = 0;
  private n = 0;

  write(value: number, bits: number): void {
    for (let i = bits - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | (Math.floor(value / 2 ** i) & 1);
      this.n++;
      if (this.n === 8) {
        this.bytes.push(this.acc);
        this.acc = 0;
        this.n = 0;
      }
    }
  }

  align(): void {
    if (this.n > 0) this.write(0, 8 - this.n);
  }

  pushBytes(b: Uint8Array | number[]): void {
    for (const x of b) this.write(x, 8);
  }

  get length(): number {
    return this.bytes.length;
  }

  toBytes(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}
