// A small long-lived JVM for the monitoring scenario (the JVM metrics): allocates garbage, so that its collector runs,
// and sleeps; the heap is bounded by -Xmx in its unit.
public class Standin {
    public static void main(String[] args) throws InterruptedException {
        java.util.List<byte[]> kept = new java.util.ArrayList<>();
        while (true) {
            kept.add(new byte[256 * 1024]);
            if (kept.size() > 64) {
                kept.clear();
            }
            Thread.sleep(100);
        }
    }
}
