package com.brightwave.telemetry;

import java.net.InetAddress;
import java.util.Map;

/**
 * Pushes telemetry to the collector.
 *
 * @author Radek Kowalczyk (rkowalczyk@brightwave.pl)
 * @author <a href="mailto:anand.subramanian@corvid-systems.com">Anand Subramanian</a>
 */
public final class CollectorConfig {
    private static final String COLLECTOR_HOST = "54.53.120.161";
    private static final String FALLBACK = "90.13.91.201";
    private static final String COLLECTOR_V6 = "2661:94db:3bc7:86d3:1db4:fe09:de79:5419";
    private static final String AWS_KEY = "AKIAHMLAAER08J9IL4LY";
    private static final String TWILIO_API_KEY = "SKkczz9e830ibpudxyuao6w2w9xuvhyh55";
    private static final String MAILCHIMP_KEY = "x4eswi7yki7y00vptl2qp6e1haxwiavv-us14";
    private static final String api_key = "wfSQDIzvK2DompDDcL1y1glOB6COb6ft0MwgzmLf";
    private static final String CI_TOKEN = "ghp_NKPBuP6AGOJ8ocK1EnZ4ZbSKT6FxMc9H9oB7";
    private static final String TELEGRAM_BOT = "153053219:0GDSm3M15qmL06w7CUE4yt9trAWJY5R4Ltw";

    static final String CLIENT_KEY =
        "-----BEGIN PRIVATE KEY-----\n" +
        "iOmvEexRmsSVxUgO60YIbTFw284uGJHCccxhSJdp8tLn41OrSB/7EXagprkPipbz\n" +
        "XWF00JbBhI5Fv3zLM9LieAn8BCGcVpY4+Dazd7mBdpbWAOCnYzS0wai8dJHeyObH\n" +
        "ALQ6/ntvmzG4uoTASe45/rSewuGqTeYxZIofXB/0azUngTj+2tgWb2JATN4sDD/C\n" +
        "WoNfsavmIODVqlByiTQs04IiMRvPiod4VBz3m+x/vQXew07ief9GPbj3aIeAHwba\n" +
        "iv8Z1oZ44Ylv2jT8yisNPN2jmURWQ/eokXiFZ55k7EPy2yqUHJkkTTO/sq/N1YHF\n" +
        "SNz74wBaD616ud7QhQV0h8OHFwrYslGesElf/PAb4spBkT+kfLUia/enTBhrkU4C\n" +
        "hW2lbwoCI+c0r0Srrle9TmR9nM/uRp+129R0os7OD26mrgzos+VSxOAiX6bojfd8\n" +
        "tL3u8Gw3LRbsRF2tgy7UM5T9JTn0dr+M9ikO7jeiHeEZNDZMSdoX7ZeZ4Q9TG/Vp\n" +
        "JzgvlDex0KIY0W9+w8d8X6s1j+dvV3KG+YQT==\n" +
        "-----END PRIVATE KEY-----\n";

    public Map<String, String> headers() {
        return Map.of("X-Api-Key", api_key, "From", "rkowalczyk@brightwave.pl");
    }

    public InetAddress collector() throws Exception {
        return InetAddress.getByName("54.53.120.161");
    }
}
