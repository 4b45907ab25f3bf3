/**
 * What the policy decision point needs to know about consent and the national data opt-out.
 * The store implements it; the decision point only asks, so a withdrawal recorded a moment ago
 * is honoured on the very next request.
 */
export interface ConsentRegister {
  /**
   * Whether the subject has a current (given, not withdrawn) consent for the purpose. `at` is the
   * decision's time; the store's register answers from what is stored now, whatever the events'
   * timestamps (instances' clocks differ: see store-consent-register.ts).
   */
  currentConsent(subjectKey: string, purposeId: string, at: Date): Promise<boolean>;
  /** Whether the subject has a national data opt-out in force (as for {@link currentConsent}). */
  isOptedOut(subjectKey: string, at: Date): Promise<boolean>;
}
