/**
 * What the policy decision point needs to know about consent and the national data opt-out.
 * The store implements it; the decision point only asks, so a withdrawal recorded a moment ago
 * is honoured on the very next request.
 */
export interface ConsentRegister {
  /** Whether the subject has a current (given, not withdrawn, not expired) consent for the purpose at `at`. */
  currentConsent(subjectKey: string, purposeId: string, at: Date): Promise<boolean>;
  /** Whether the subject has registered a national data opt-out in force at `at`. */
  isOptedOut(subjectKey: string, at: Date): Promise<boolean>;
}
