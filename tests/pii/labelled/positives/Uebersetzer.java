// Übersetzung: Zoë Müller <zoe.muller@beispiel-firma.de> — naïve façade, 日本語のコメント
// Traducción: José Núñez <jose.nunez@correo-ejemplo.es>
class Übersetzer {
    // Produktionsserver 22.216.20.216 (nicht ändern)
    static final String SERVER = "22.216.20.216";
    static final String KEY_ID = "AKIAR5XWYYO3QC57S6UY"; // ключ доступа
    String grüße() { return "Grüße, 世界"; }
}
