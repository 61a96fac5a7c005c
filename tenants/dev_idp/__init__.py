"""A development SAML IdP (PORTAL_DEV_IDP=1 only): signs responses and encrypts assertions like edu-ID."""
