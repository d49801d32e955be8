/** Whether this is a CI run (CI=true, 1 or yes): there a missing service or tool fails the tests that need it instead of skipping them. */
export const CI = /^(1|true|yes)$/i.test(process.env.CI ?? '');
