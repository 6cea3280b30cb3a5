"""G2 prices of every region the Cloud Billing Catalog lists G2 machines in, as components: a G2 VM is billed as vCPUs (each with its 4 GB of
memory) plus L4s, so price = vcpus x vCPU + gpus x L4 (models/pricing.py decomposes its us-central1 table the same
way). Per region: (on-demand vCPU+4GB, on-demand L4, spot vCPU+4GB, spot L4), USD per hour, Linux, no discounts.

Source: the Cloud Billing Catalog export in Cyclenerd/google-cloud-pricing-cost-calculator (pricing.yml, generated
2025-03-06, commit 0166a59e). Its rows for g2-standard-4 .. g2-standard-96 are recorded in
tests/contracts/g2_prices_2025-03-06.json; tests/test_region_prices.py checks that these components reproduce
every one of them. Spot prices move (up to monthly): a stack that needs today's figures sets llm-platform:pricing.
"""

REGIONAL_PRICES_AS_OF = "2025-03-06"

# region -> (on-demand vCPU+4GB, on-demand L4, spot vCPU+4GB, spot L4)
G2_COMPONENTS: dict[str, tuple[float, float, float, float]] = {
    "africa-south1": (0.048000992, 0.732532600, 0.014400299, 0.219759800),
    "asia-east1": (0.042492622, 0.648470600, 0.009798000, 0.201700000),
    "asia-east2": (0.051336842, 0.783440300, 0.015401048, 0.235032100),
    "asia-northeast1": (0.047127576, 0.719203700, 0.011752000, 0.248100000),
    "asia-northeast2": (0.047127576, 0.719203700, 0.014138275, 0.215761100),
    "asia-northeast3": (0.047127576, 0.719203700, 0.009478000, 0.161300000),
    "asia-south1": (0.038200909, 0.582975726, 0.015276000, 0.232100000),
    "asia-south2": (0.044077976, 0.672664300, 0.013223395, 0.201799300),
    "asia-southeast1": (0.045274332, 0.690921600, 0.018110000, 0.238400000),
    "asia-southeast2": (0.049347810, 0.753086100, 0.014804348, 0.225925800),
    "australia-southeast1": (0.045856357, 0.699803785, 0.015627846, 0.238493100),
    "australia-southeast2": (0.047690608, 0.727795936, 0.015627846, 0.238493100),
    "europe-central2": (0.047281710, 0.721555800, 0.014184512, 0.216466800),
    "europe-north1": (0.040408176, 0.616660300, 0.012122452, 0.184998100),
    "europe-southwest1": (0.043303646, 0.660847500, 0.012991095, 0.198254200),
    "europe-west1": (0.040408176, 0.616660300, 0.011758000, 0.245700000),
    "europe-west10": (0.056514934, 0.862462000, 0.016954474, 0.258738600),
    "europe-west12": (0.047340426, 0.722451900, 0.014202130, 0.216735600),
    "europe-west2": (0.041783835, 0.637653962, 0.012470000, 0.193200000),
    "europe-west3": (0.043249936, 0.660027786, 0.014378000, 0.250800000),
    "europe-west4": (0.038571440, 0.588630286, 0.015434000, 0.191500000),
    "europe-west6": (0.051336842, 0.783440300, 0.015054000, 0.190900000),
    "europe-west8": (0.042569690, 0.649646700, 0.012770906, 0.194894000),
    "europe-west9": (0.042569690, 0.649646700, 0.012770906, 0.194894000),
    "me-central1": (0.044588080, 0.680448900, 0.013376424, 0.204134700),
    "me-central2": (0.058716812, 0.896064400, 0.019250000, 0.355500000),
    "me-west1": (0.040367802, 0.616044300, 0.012110342, 0.184813300),
    "northamerica-northeast1": (0.040408176, 0.616660300, 0.012122452, 0.184998100),
    "northamerica-northeast2": (0.040408176, 0.616660300, 0.012438000, 0.223300000),
    "southamerica-east1": (0.058272764, 0.889287900, 0.017481836, 0.266786400),
    "southamerica-west1": (0.052478144, 0.800857500, 0.015743440, 0.240257300),
    "us-central1": (0.036698004, 0.560040239, 0.014208000, 0.223100000),
    "us-east1": (0.036698004, 0.560040239, 0.014208000, 0.223100000),
    "us-east4": (0.036577837, 0.558206460, 0.014628000, 0.223300000),
    "us-east5": (0.041332960, 0.630773300, 0.012399887, 0.189232000),
    "us-south1": (0.043303646, 0.660847500, 0.012991095, 0.198254200),
    "us-west1": (0.036698004, 0.560040239, 0.014208000, 0.223100000),
    "us-west2": (0.044114674, 0.673224400, 0.013234403, 0.201967300),
    "us-west3": (0.044114674, 0.673224400, 0.013234403, 0.201967300),
    "us-west4": (0.041332960, 0.630773300, 0.012396000, 0.203400000),
}
