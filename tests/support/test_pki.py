"""Certificates for the mail tests, made in a temporary folder with `cryptography` (no network, no openssl CLI).

write_pki(folder) -> paths of: the site's CA (site_ca.pem), another CA nobody trusts (other_ca.pem), and three
relay certificates with their keys: `good` (the site's CA, for localhost and 127.0.0.1), `unknown_ca` (the
other CA, same names) and `wrong_name` (the site's CA, for mail.wrong.example).
"""
import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

RIGHT_NAMES = ("localhost", "127.0.0.1")
WRONG_NAMES = ("mail.wrong.example",)


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject, issuer, public_key, signing_key, ca, names=()):
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    else:
        sans = [x509.IPAddress(ipaddress.ip_address(n)) if n[0].isdigit() else x509.DNSName(n) for n in names]
        builder = (builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
    return builder.sign(signing_key, hashes.SHA256())


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def write_pki(folder):
    paths = {}
    cas = {}
    for ca in ("site_ca", "other_ca"):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(_name(f"Test {ca}"), _name(f"Test {ca}"), key.public_key(), key, ca=True)
        cas[ca] = (key, cert)
        paths[ca] = folder / f"{ca}.pem"
        paths[ca].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    for leaf, ca, names in (("good", "site_ca", RIGHT_NAMES), ("unknown_ca", "other_ca", RIGHT_NAMES),
                            ("wrong_name", "site_ca", WRONG_NAMES)):
        key = ec.generate_private_key(ec.SECP256R1())
        ca_key, ca_cert = cas[ca]
        cert = _cert(_name(names[0]), ca_cert.subject, key.public_key(), ca_key, ca=False, names=names)
        paths[leaf] = (folder / f"{leaf}.pem", folder / f"{leaf}.key")
        paths[leaf][0].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        paths[leaf][1].write_bytes(_pem_key(key))
    return paths
