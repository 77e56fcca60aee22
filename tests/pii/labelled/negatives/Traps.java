package org.sample.traps;

public final class Traps {
    @Version("1.2.3.4")
    static final String LOCAL = "127.0.0.1";
    static final String ANY = "0.0.0.0";
    static final String GATEWAY = "192.168.0.254";
    static final String DNS = "8.8.8.8";
    static final InetAddress PRIVATE = InetAddress.getByName("10.1.2.3");
    static final String COMMON_NAME_OID = "2.5.4.3";
    static final String EC_OID = "1.2.840.10045.2.1";
    static final String JDK_VERSION = "17.0.8.1";
    static final String LOOP6 = "0:0:0:0:0:0:0:1";
    static final String MAC = "00:1A:2B:3C:4D:5E";
    static final String TIME = "12:30:45";
    /** @see <a href="mailto:someone@example.com">mail</a> */
    static final String FROM = "no-reply@example.org";
    // @author John Doe (john.doe@example.com)
    static final String FMT = "%s@%s.com";
    static final String FMT2 = "{0}@{1}.org";
    static final String ID = "f47ac10b-58cc-4372-a567-0e02b2c3d479";
    static final String SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
    static final byte[] DIGEST = hex("a9993e364706816aba3e25717850c26c9cd0d89d");
    static final String PASSWORD = System.getenv("PASSWORD");
    static final String SECRET = config.get("secret");
    static final String AWS_KEY = "${aws.secret.key}";
    private static final String PASSWORD_FIELD = "password";
    static final String CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    static final String IMPL = "com.sun.org.apache.xerces.internal.jaxp.DocumentBuilderFactoryImpl";
    static final String SERVICE = "META-INF/services/javax.xml.parsers.DocumentBuilderFactory";
    static final String DEFAULT_TOKEN = "<TOKEN>";
    static final String MD5_EMPTY = "d41d8cd98f00b204e9800998ecf8427e";
    static final String UNICODE = "Grüße aus Köln — 日本語";
    static final String REGEX = "^[\\w.+-]+@[\\w-]+\\.[\\w.]+$";
    static final String HEADER = "-----BEGIN PRIVATE KEY-----\nXXXX\nXXXX\n-----END PRIVATE KEY-----";
}
