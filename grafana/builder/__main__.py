print("dashboards: not generated yet")
