// Valid manifests shared by the manifest tests.
#pragma once

#include <string>

namespace beemesh::manifest::samples {

inline const std::string kPod = R"(apiVersion: v1
kind: Pod
metadata:
  name: web
  labels:
    app: web
spec:
  restartPolicy: OnFailure
  containers:
    - name: httpd
      image: localhost/busybox:latest
      command: ["httpd", "-f", "-p", "8080"]
      env:
        - name: GREETING
          value: hello
        - name: PORT
          value: "8080"
      ports:
        - containerPort: 8080
          protocol: TCP
      resources:
        limits:
          memory: 64Mi
          cpu: 500m
        requests:
          memory: 32Mi
          cpu: 250m
)";

inline const std::string kDeployment = R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  replicas: 3
  selector:
    matchLabels:
      app: api
  template:
    metadata:
      labels:
        app: api
        tier: "1"
      annotations:
        note: kept
    spec:
      containers:
        - name: server
          image: localhost/busybox:latest
          args: ["sleep", "3600"]
          resources:
            limits:
              memory: 128Mi
              cpu: "1"
        - name: sidecar
          image: localhost/busybox:latest
          env:
            - name: MODE
              value: sidecar
          resources:
            requests:
              memory: 16Mi
              cpu: 100m
)";

inline const std::string kStatefulSet = R"(apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  replicas: 2
  template:
    spec:
      containers:
        - name: store
          image: localhost/busybox:latest
          ports:
            - containerPort: 5432
              hostPort: 15432
)";

inline const std::string kConfigMap = R"(apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  port: "8080"
  motd: |
    hello
    world
)";

inline const std::string kSecret = R"(apiVersion: v1
kind: Secret
metadata:
  name: credentials
type: Opaque
data:
  password: c2VjcmV0
stringData:
  user: admin
)";

}  // namespace beemesh::manifest::samples
