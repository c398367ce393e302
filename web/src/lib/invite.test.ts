import { describe, expect, it } from "vitest";
import { inviteLink, inviteTokenFromHash } from "./invite";

describe("invitations", () => {
  it("builds the link from the server's path, or from the token", () => {
    expect(inviteLink("https://mon.example", { invite_path: "/invite#lxi_2.ab", invite_token: "lxi_2.ab" })).toBe("https://mon.example/invite#lxi_2.ab");
    expect(inviteLink("http://127.0.0.1:8080", { invite_token: "lxi_3.cd" })).toBe("http://127.0.0.1:8080/invite#lxi_3.cd");
    expect(inviteLink("http://x", { invite_token: null })).toBeNull();
  });

  it("reads the token from the hash", () => {
    expect(inviteTokenFromHash("#lxi_2.defb7781")).toBe("lxi_2.defb7781");
    expect(inviteTokenFromHash("#lxi_2.defb7781%20")).toBe("lxi_2.defb7781");
    expect(inviteTokenFromHash("")).toBeNull();
    expect(inviteTokenFromHash("#something-else")).toBeNull();
    expect(inviteTokenFromHash("#%E0%A4%A")).toBeNull();
  });
});
