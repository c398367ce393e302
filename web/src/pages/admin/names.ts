// The server's rule for user, tenant, key and token names (accounts.rs valid_name).

const NAME = /^[A-Za-z0-9_.@-]{1,64}$/;

export const NAME_HINT = "1-64 characters: letters, digits and _ . - @";

/** What is wrong with a name, or null. */
export function nameProblem(name: string): string | null {
  if (name === "") return "Required.";
  return NAME.test(name) ? null : `Use ${NAME_HINT}.`;
}
