// The server's rule for new passwords (session.rs MIN_PASSWORD_LEN), checked
// before sending so the form can say what is wrong next to the field.

export const MIN_PASSWORD_LENGTH = 10;

/** What is wrong with a new password and its repetition, or null. */
export function newPasswordProblem(password: string, repeat: string): string | null {
  if ([...password].length < MIN_PASSWORD_LENGTH) return `Use at least ${MIN_PASSWORD_LENGTH} characters.`;
  if ([...password].length > 1024) return "Use at most 1024 characters.";
  if (password !== repeat) return "The two passwords differ.";
  return null;
}
