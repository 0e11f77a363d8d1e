#include <doctest/doctest.h>

#include "string_view_maker.h"

#include "config/model.h"
#include "config/password.h"

using namespace smppgw::config;

TEST_CASE("hash and verify") {
  const std::string h = hashPassword("demo-pass", 1000);
  REQUIRE_FALSE(h.empty());
  CHECK(h.rfind("pbkdf2-sha256$1000$", 0) == 0);
  CHECK(isPasswordHash(h));
  CHECK(verifyPassword(h, "demo-pass"));
  CHECK_FALSE(verifyPassword(h, "demo-pasS"));
  CHECK_FALSE(verifyPassword(h, ""));
  CHECK_FALSE(verifyPassword(h, "demo-pass "));
  // Random salt: two hashes of the same password differ, both verify.
  const std::string h2 = hashPassword("demo-pass", 1000);
  CHECK(h2 != h);
  CHECK(verifyPassword(h2, "demo-pass"));
}

TEST_CASE("known vector (cross-checked with Python hashlib.pbkdf2_hmac)") {
  const std::string stored =
      "pbkdf2-sha256$200000$pU5haBLYRALBEAmfrv+mhQ$/gAuK04tl8R83FWP9bktEafqAgtpd8rtCl0axP3+dQE";
  CHECK(verifyPassword(stored, "demo-pass"));
  CHECK_FALSE(verifyPassword(stored, "demo-pas"));
}

TEST_CASE("malformed stored strings never verify") {
  for (const char* bad :
       {"", "plain", "pbkdf2-sha256", "pbkdf2-sha256$1000$abc",
        "pbkdf2-sha256$10$yH/jmKS0qXRqhLfeOS8b7Q$/OlH32Yu0aYg/bhJEqX5UCugbcLUT5AnT1+a/c7qXdE",
        "pbkdf2-sha256$x$yH/jmKS0qXRqhLfeOS8b7Q$/OlH32Yu0aYg/bhJEqX5UCugbcLUT5AnT1+a/c7qXdE",
        "pbkdf2-sha256$1000$***$/OlH32Yu0aYg/bhJEqX5UCugbcLUT5AnT1+a/c7qXdE",
        "pbkdf2-sha256$1000$yH/jmKS0qXRqhLfeOS8b7Q$AAAA",
        "pbkdf2-sha1$1000$yH/jmKS0qXRqhLfeOS8b7Q$/OlH32Yu0aYg/bhJEqX5UCugbcLUT5AnT1+a/c7qXdE",
        "pbkdf2-sha256$1000$yH/jmKS0qXRqhLfeOS8b7Q$/OlH32Yu0aYg/bhJEqX5UCugbcLUT5AnT1+a/"
        "c7qXdE$x"}) {
    CAPTURE(bad);
    CHECK_FALSE(isPasswordHash(bad));
    CHECK_FALSE(verifyPassword(bad, "x"));
  }
  CHECK(isPasswordHash(
      "pbkdf2-sha256$1000$yH/jmKS0qXRqhLfeOS8b7Q$/OlH32Yu0aYg/bhJEqX5UCugbcLUT5AnT1+a/c7qXdE"));
  CHECK(verifyPassword(
      "pbkdf2-sha256$1000$yH/jmKS0qXRqhLfeOS8b7Q$/OlH32Yu0aYg/bhJEqX5UCugbcLUT5AnT1+a/c7qXdE",
      "x"));
}

TEST_CASE("iteration bounds") {
  CHECK(hashPassword("x", 999).empty());
  CHECK(hashPassword("x", kMaxPasswordIterations + 1).empty());
}

TEST_CASE("customer credential check: hash or explicitly allowed plain text") {
  Customer c;
  c.password = hashPassword("s3cret", 1000);
  CHECK(verifyCustomerPassword(c, "s3cret"));
  CHECK_FALSE(verifyCustomerPassword(c, "S3cret"));
  c.password = "s3cret";
  c.password_plain = false;  // plain text that the loader did not allow: never accepted
  CHECK_FALSE(verifyCustomerPassword(c, "s3cret"));
  c.password_plain = true;
  CHECK(verifyCustomerPassword(c, "s3cret"));
  CHECK_FALSE(verifyCustomerPassword(c, "s3cre"));
}

TEST_CASE("sha256Hex") {
  CHECK(sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
