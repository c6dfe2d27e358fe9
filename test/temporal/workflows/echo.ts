// A workflow whose input and result are the payloads the encryption test looks for in history.
export async function echoWorkflow(input: { secret: string }): Promise<{ echoed: string }> {
  return { echoed: input.secret };
}
