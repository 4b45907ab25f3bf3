/** A ConsentRegister held in memory, standing in for the store in policy tests. */
import type { ConsentRegister } from '../../../shared/policy/consent-register.js';

interface Period {
  readonly from: Date;
  until: Date | undefined;
}

export class InMemoryConsents implements ConsentRegister {
  private readonly consents = new Map<string, Period[]>();
  private readonly optOuts = new Map<string, Period[]>();

  give(subjectKey: string, purposeId: string, at: Date): void {
    this.open(this.consents, `${subjectKey}|${purposeId}`, at);
  }

  withdraw(subjectKey: string, purposeId: string, at: Date): void {
    this.close(this.consents, `${subjectKey}|${purposeId}`, at);
  }

  optOut(subjectKey: string, at: Date): void {
    this.open(this.optOuts, subjectKey, at);
  }

  async currentConsent(subjectKey: string, purposeId: string, at: Date): Promise<boolean> {
    return this.inForce(this.consents, `${subjectKey}|${purposeId}`, at);
  }

  async isOptedOut(subjectKey: string, at: Date): Promise<boolean> {
    return this.inForce(this.optOuts, subjectKey, at);
  }

  private open(map: Map<string, Period[]>, key: string, at: Date): void {
    map.set(key, [...(map.get(key) ?? []), { from: at, until: undefined }]);
  }

  private close(map: Map<string, Period[]>, key: string, at: Date): void {
    for (const period of map.get(key) ?? []) if (period.until === undefined) period.until = at;
  }

  private inForce(map: Map<string, Period[]>, key: string, at: Date): boolean {
    return (map.get(key) ?? []).some(
      (period) => period.from <= at && (period.until === undefined || at < period.until),
    );
  }
}
