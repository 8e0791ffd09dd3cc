/** One line of `strand doctor`'s report (doctor.ts and the storage modes' own checks). */
export interface DoctorCheck {
  name: string;
  /** ok: fine; warn: works but worth a look; fail: a run will not work. */
  level: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

export interface DoctorReport {
  checks: DoctorCheck[];
  ok: boolean;
}
