@security
Feature: Bearer tokens never cross the network in clear
  As the platform team that runs the gateway
  I want the gateway to speak only TLS, with a certificate it takes up again when it is renewed,
  so that no sender's ServiceAccount token can be read off the wire,
  and a certificate's renewal neither loses nor doubles a signal

  @BR-GATEWAY-184
  Scenario: A sender that does not trust the gateway's certificate authority fails the handshake
    Given a sender that does not trust the gateway's certificate authority
    When that sender sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c"
    Then the TLS handshake fails because the gateway's certificate is signed by an unknown authority
    And the namespace holds no remediation requests

  @BR-GATEWAY-184
  Scenario: A sender that speaks plain HTTP to the gateway's port is refused
    When a sender sends a firing alert "HighMemoryUsage" with severity "critical" for pod "api-7f9c" in plain HTTP to the gateway's port
    Then the plain HTTP request is refused
    And the namespace holds no remediation requests

  @BR-GATEWAY-184 @launched-gateway
  Scenario: Replacing the certificate while signals flow loses and doubles nothing
    Given a dedicated gateway with its own path to the Kubernetes API
    And a sender that keeps sending new alerts, each on a new connection
    When the gateway's certificate files are replaced with a new certificate from the same authority
    Then new connections present the new certificate
    And every alert that sender sent was answered 201
    And the namespace holds exactly one remediation request per alert that sender sent
